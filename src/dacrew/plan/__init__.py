"""The plan compiler: the task plan's model, its parsers (template, spec-kit), validation, the schedule and
its renderings. Pure: imports only :mod:`dacrew.errors`."""
