#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One group-commit syncer per directory, kept for the life of the plugin.
final class DirectorySyncs: Sendable {
    private let table = Mutex<[String: DirectorySync]>([:])

    func syncer(for path: String) -> DirectorySync {
        table.withLock { table in
            if let existing = table[path] { return existing }
            let created = DirectorySync(path: path)
            table[path] = created
            return created
        }
    }
}

/// Group commit for directory fsyncs. A delivery is durable only once the directory entry that
/// names it is on disk, so each delivery must wait for an fsync of `new/` that started after its
/// rename. One fsync covers every rename before it, so concurrent deliveries share it: while one
/// runs, later arrivals wait and the next fsync serves them all, instead of each paying its own.
///
/// Written with pthreads by hand: plugins cannot use NIO's locks, and Swift's Synchronization
/// module has no condition variable. Called only from blocking-pool threads.
final class DirectorySync: @unchecked Sendable {  // all state is guarded by `mutex`
    private var mutex = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var requested = 0
    private var completed = 0
    private var running = false
    private var lastError: Int32 = 0
    let path: String

    init(path: String) {
        self.path = path
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&changed, nil)
    }

    deinit {
        pthread_cond_destroy(&changed)
        pthread_mutex_destroy(&mutex)
    }

    /// Returns once an fsync of the directory that began after this call has finished; the errno
    /// of a failed fsync otherwise.
    func sync() -> Int32 {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        requested += 1
        let ticket = requested
        while completed < ticket {
            if running {
                pthread_cond_wait(&changed, &mutex)
                continue
            }
            running = true
            let covers = requested
            pthread_mutex_unlock(&mutex)
            let result = Self.fsyncDirectory(path)
            pthread_mutex_lock(&mutex)
            running = false
            lastError = result
            completed = covers
            pthread_cond_broadcast(&changed)
            if result != 0 { return result }
        }
        return lastError
    }

    private static func fsyncDirectory(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        return fsync(fd) == 0 ? 0 : errno
    }
}
