import BucketDeltaCLI

BucketDeltaMain.main()
