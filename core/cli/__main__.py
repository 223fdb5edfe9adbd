"""`python -m core.cli`: the same as the `qwen-edit` command."""

from core.cli import main

if __name__ == "__main__":
    main()
