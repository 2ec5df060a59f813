"""`python -m qa_service` = the `qa` command."""

from qa_service.cli.main import app

app()
