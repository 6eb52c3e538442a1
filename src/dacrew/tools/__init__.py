"""Typed toolsets over real systems: dbt, the warehouse, Tableau, Orchestra, files, findings."""
