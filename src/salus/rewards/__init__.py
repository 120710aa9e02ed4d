"""Patient rewards (issue 18): points for kept appointments and completed surveys, within
the rules on beneficiary inducements (docs/rewards.md)."""
