from callplane.cli import app

app(prog_name="callplane")
