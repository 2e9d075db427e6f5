"""One module a deployed Lambda function: its handler, importing only what it uses
(chalicelib/lambda_entry.py). tests/test_lambda_entries.py keeps them in step with the app."""
