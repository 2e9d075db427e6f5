"""Pure rules and data: no boto3, no DynamoDB. Tested without AWS."""
