from evidence_cli.cli import app

app(prog_name="evidence")
