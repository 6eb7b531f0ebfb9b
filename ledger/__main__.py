"""``python -m ledger`` runs the ``solidarity`` command line."""

from ledger.cli import main

main(prog_name="solidarity")
