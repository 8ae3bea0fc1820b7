from proofpile.cli import app

app()
