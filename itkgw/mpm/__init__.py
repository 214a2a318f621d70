"""The process model: the only code that forks the server, holds capabilities or changes ids.

``master`` (root) owns the listeners, the ``scoreboard`` and the ``signals``;
``worker`` accepts and forks a ``child`` per connection, as mpm-itk does;
``privs`` drops privileges in a fixed, verified order and ``sandbox``
confines set*id calls with seccomp; ``log`` writes Apache's error and access
log formats; ``daemon`` detaches and keeps the pid file.
"""
