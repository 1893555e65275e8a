"""The ``callplane`` commands that talk to a running server, through ``callplane.client``.

``callplane.cli`` assembles them with the local admin commands (serve, migrate, workspaces,
keys), which work on the database directly.
"""
