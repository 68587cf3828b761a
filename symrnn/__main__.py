import sys

try:  # Ctrl-C while SymPy is still importing: the same one line as later on
    from .cli import main
except KeyboardInterrupt:
    sys.stderr.write("symrnn: interrupted\n")
    sys.exit(130)

sys.exit(main())
