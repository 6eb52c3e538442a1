"""The agent registry (``prompts/<agent>.md``), the specialist tool-calling loop and delegation."""
