"""``dacrew chat``'s conversation engine, apart from the terminal: from a feature described in words to a
spec (interview), a validated task plan (planning, edits) and a run (approve), one step at a time.

The engine talks to the person through :class:`dacrew.chat.io.ChatIO`; ``dacrew.cli.chat`` gives it a
terminal (prompt_toolkit and rich), tests can give it a script.
"""
