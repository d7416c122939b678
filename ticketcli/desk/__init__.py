"""The use cases of a help desk: tickets, people, sharing, stale rules, mail-in, transfer.

Each takes the store, the acting person and the time, checks the rules, and
writes through the store in one transaction; none prints or parses arguments.
"""
