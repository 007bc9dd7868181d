public enum BucketDeltaPlaceholder {}
