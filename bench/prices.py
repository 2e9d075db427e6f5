"""AWS public list prices used by the cost model (bench/cost.py): the one table to update.

US East (N. Virginia), on-demand, without free tiers, x86 Lambda. Sources (AWS pricing pages):
  Lambda        https://aws.amazon.com/lambda/pricing/
  DynamoDB      https://aws.amazon.com/dynamodb/pricing/on-demand/  (after the 1 Nov 2024 cut)
  SQS           https://aws.amazon.com/sqs/pricing/                  (standard queues)
  API Gateway   https://aws.amazon.com/api-gateway/pricing/          (REST APIs, first 333M a month)
  SNS           https://aws.amazon.com/sns/pricing/                  (publishes; SNS→SQS delivery free)
  SES           https://aws.amazon.com/ses/pricing/                  (outbound email)
As listed on those pages in November 2024; re-read them (and this date) when the model matters.
Below the prices, the call latencies the model assumes for Lambda durations (not prices, not measured).
"""
from __future__ import annotations

PRICES_AS_OF = "2024-11 (us-east-1 list prices)"

USD = {
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_request_unit": 0.625 / 1_000_000,
    "dynamodb_read_request_unit": 0.125 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
    "api_gateway_rest_request": 3.50 / 1_000_000,
    "sns_publish": 0.50 / 1_000_000,
    "ses_email": 0.10 / 1_000,
}

# Assumptions, not measurements: how long a Lambda waits for one AWS API call in its own region,
# which it is billed for. The benchmarks run against moto in-process, whose own speed says nothing
# about AWS's, so the Lambda durations priced are the code's own time plus these waits per call.
AWS_CALL_LATENCY_MS = 10.0  # DynamoDB, SQS, SNS
SES_CALL_LATENCY_MS = 40.0  # one SES send (SendEmail)
