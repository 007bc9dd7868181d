public enum BucketDeltaCLIPlaceholder {}
