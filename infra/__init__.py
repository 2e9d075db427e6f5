"""Deployment: the CloudFormation template built from the app and its declared resources."""
