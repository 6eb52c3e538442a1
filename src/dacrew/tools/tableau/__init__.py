"""tableau: Tableau Server/Cloud through tableauserverclient, and the local artifacts.

- ``server``: publish, job status, extract refresh and listing on a server (personal access token).
- ``local``: a ``.tds`` per mart and a ``.hyper`` extract (tableauhyperapi), and the field check.
"""

from __future__ import annotations

from dacrew.tools.tableau.local import tableau_build_datasource, tableau_check_fields
from dacrew.tools.tableau.server import (
    tableau_job_status,
    tableau_list,
    tableau_publish_datasource,
    tableau_refresh_extract,
)

__all__ = [
    "tableau_build_datasource",
    "tableau_check_fields",
    "tableau_job_status",
    "tableau_list",
    "tableau_publish_datasource",
    "tableau_refresh_extract",
]
