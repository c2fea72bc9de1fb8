"""``python -m hitos_cli``: the ``hitos`` command."""

from hitos_cli import main

main()
