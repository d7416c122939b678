"""ticketcli: a command-line help-desk ticket tool on one SQLite file."""

__version__ = "0.1.0"
