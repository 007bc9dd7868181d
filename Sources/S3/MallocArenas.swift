internal import CCurlShims

/// glibc malloc keeps up to 8 arenas per core; memory allocated on one thread (a listing page parsed by
/// a lister) and freed on another (the merge) piles up in them.
public enum MallocArenas {
  /// Caps the arenas; call before starting threads. Returns false where it is not supported.
  @discardableResult
  public static func limit(_ arenas: Int32) -> Bool { bd_limit_malloc_arenas(arenas) == 1 }
}
