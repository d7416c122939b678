"""Email in both directions: the outbox and its sender, and mail-in.

Importing this package is free: it holds no code. The modules that need the
standard library's ``email`` and ``smtplib`` (``compose``, ``sender``,
``parse``, ``inbound``) are imported only by the commands that send or receive
mail; :mod:`ticketcli.mail.outbox`, which every write command runs through the
event seam, imports neither.
"""
