"""The AWS deployment of the Vigia pipeline: an AWS CDK v2 app built from `pipeline.yaml`."""
