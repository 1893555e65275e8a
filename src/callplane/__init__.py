"""callplane: an open phone-number control plane for voice-AI agents."""

__version__ = "0.1.0"
