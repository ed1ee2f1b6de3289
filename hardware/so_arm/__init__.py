"""SO-100 / SO-101 arms (Feetech STS3215 servos): follower robots and leader teleoperators."""
