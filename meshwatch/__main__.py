"""`python -m meshwatch` runs the CLI."""

from meshwatch.cli import main

if __name__ == "__main__":
    main()
