"""Pure scores over conversations and customers (churn risk) that actions and insight share."""
