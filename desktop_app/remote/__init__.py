"""Remote control of the running app: one instance per user and data folder, and commands from outside
(``voice-assistant ptt press``, a second start asking to show the window) delivered to it.

Plain Unix sockets with one line of JSON each way (protocol.py), not multiprocessing.connection: its
Listener.accept() runs the authkey handshake on the accepting thread, so one silent client would stall
every other one; its recv() unpickles, which runs code chosen by whoever connects; it has no read timeout;
and it loads more modules on a path that a key press starts. The authkey would also need a shared secret in
a file, which is no better than the socket's private folder. JSON lines can be read in a log and typed by
hand (``nc -U``). On Windows, which has no Unix sockets in Python, the same lines travel as named-pipe
messages through multiprocessing.connection's pipe code, bytes only (pipes.py).

The app (on its main thread, before it opens the window)::

    from desktop_app.remote.claim import claim_instance
    from desktop_app.remote.client import RemoteClient
    from desktop_app.remote.protocol import Command, CommandName

    claim = claim_instance(paths.data_dir)
    if isinstance(claim, RemoteClient):
        claim.send(Command(CommandName.SHOW, argv=tuple(sys.argv[1:])), timeout=10)
        return 0
    claim.start(bridge.remote_command)  # called on a server thread: emit a queued Qt signal, return at once
    ...
    claim.stop()  # on quit

Modules: claim (claim_instance), server (RemoteServer), client (RemoteClient), protocol (Command,
CommandName, Handler, RemoteError, Reply), endpoint (where the socket lives). This file imports none of
them: `voice-assistant ptt` loads only the client side.
"""
