"""One module a deployed Lambda function: its handler, importing only what it uses
(chalicelib/lambda_entry.py). tests/test_lambda_entries.py keeps them in step with the app.

Importing an entry makes tens of thousands of objects that live as long as the process (modules,
classes, models, botocore's tables): the garbage collector's passes over them during the import
free nothing and cost about a twelfth of it (issue 15, `make bench`). So collection pauses here,
before anything of the entry is imported, until its app is built (lambda_entry.function_app), which
sets what the import made aside (gc.freeze) and resumes it.
"""
import gc

gc.disable()
