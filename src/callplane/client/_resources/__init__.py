"""The resource namespaces of the clients (``client.numbers``, ``client.agents``, …).

Each module builds its calls once, I/O-free, and wraps them in a sync and an async class.
"""
