"""The only code that talks to SES, SNS and SQS."""
