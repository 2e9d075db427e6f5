"""AWS public list prices used by the cost model (bench/cost.py): the one table to update.

US East (N. Virginia), on-demand, without free tiers. Sources (AWS pricing pages):
  Lambda        https://aws.amazon.com/lambda/pricing/               (x86 and arm64, first 6B GB-s)
  DynamoDB      https://aws.amazon.com/dynamodb/pricing/on-demand/  (after the 1 Nov 2024 cut)
  SQS           https://aws.amazon.com/sqs/pricing/                  (standard queues)
  API Gateway   https://aws.amazon.com/api-gateway/pricing/          (REST APIs, first 333M a month)
  SNS           https://aws.amazon.com/sns/pricing/                  (publishes; SNS→SQS delivery free)
  SES           https://aws.amazon.com/ses/pricing/                  (outbound email)
  CloudWatch    https://aws.amazon.com/cloudwatch/pricing/           (logs, custom metrics, alarms)
  Secrets Mgr   https://aws.amazon.com/secrets-manager/pricing/
As listed on those pages in November 2024; re-read them (and this date) when the model matters.
Below the prices, what the model assumes where nothing here can measure it (not prices, not
measured): call latencies, and how Lambda runs, logs and polls.
"""
from __future__ import annotations

PRICES_AS_OF = "2024-11 (us-east-1 list prices)"

USD = {
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000166667,  # x86_64
    "lambda_gb_second_arm64": 0.0000133334,
    "dynamodb_write_request_unit": 0.625 / 1_000_000,
    "dynamodb_read_request_unit": 0.125 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
    "api_gateway_rest_request": 3.50 / 1_000_000,
    "sns_publish": 0.50 / 1_000_000,
    "ses_email": 0.10 / 1_000,
    "logs_ingested_gb": 0.50,  # CloudWatch Logs (Lambda's logs and Powertools' metric sets)
    "custom_metric_month": 0.30,  # first 10,000 metrics; prorated by the hour a metric is sent
    "alarm_month": 0.10,  # standard resolution, one metric
    "secret_month": 0.40,
    "secrets_api_call": 0.05 / 10_000,  # GetSecretValue: each environment's reads of a secret
    "dynamodb_stored_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
}

# Assumptions, not measurements: how long a Lambda waits for one AWS API call in its own region,
# which it is billed for. The benchmarks run against moto in-process, whose own speed says nothing
# about AWS's, so the Lambda durations priced are the code's own time plus these waits per call.
AWS_CALL_LATENCY_MS = 10.0  # DynamoDB, SQS, SNS
SES_CALL_LATENCY_MS = 40.0  # one SES send (SendEmail)

# Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB (AWS's Lambda
# memory documentation). The CPU time measured here on one of this machine's cores is assumed to
# be what one Lambda vCPU would take, and is stretched by 1,769 MB / memory below that.
VCPU_MEMORY_MB = 1769
# The INIT phase (billed since August 2025) is assumed to run at the same share: AWS documents no
# faster CPU for it.
# Lambda's own log lines per invocation in the text log format (START, END, REPORT): bytes.
PLATFORM_LOG_BYTES = 380
# How long an idle execution environment stays warm. AWS publishes no figure; measurements by
# others range from about 5 to 15 minutes: the low end (more cold starts).
KEEP_WARM_SECONDS = 300
# An SQS event source mapping starts with five pollers, each long-polling (20 s) an idle queue:
# the ReceiveMessage requests it makes with nothing to receive.
ESM_POLLERS = 5
ESM_IDLE_POLL_SECONDS = 20
