#pragma once
// Lock annotations checked at compile time by clang's -Wthread-safety (the clang build of
// scripts/test.sh turns it on with -Werror); with GCC they expand to nothing. A lock is a
// "capability": base::Mutex and base::SharedMutex are ones (base/mutex.h,
// base/shared_mutex.h), and the analysis follows which of them each function holds.
//
// On data:
//   int count_ GUARDED_BY(mu_);         // reading needs mu_ held (shared is enough), writing
//                                       // needs it held exclusively
//   Node* head_ PT_GUARDED_BY(mu_);     // the same for what the pointer points to
//   Mutex b_ ACQUIRED_AFTER(a_);        // lock order: a_ first, then b_
// On functions:
//   void put_locked() REQUIRES(mu_);    // the caller holds mu_ exclusively
//   int peek() REQUIRES_SHARED(mu_);    // the caller holds mu_ at least shared
//   void stop() EXCLUDES(mu_);          // the caller must not hold mu_ (stop takes it)
//   void lock() ACQUIRE();              // returns with the lock held (RELEASE: released)
//   bool try_lock() TRY_ACQUIRE(true);  // holds the lock when it returns true
// NO_THREAD_SAFETY_ANALYSIS turns the analysis off in one function: say why where it is used.

#if defined(__clang__)
#define CHAINFS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CHAINFS_THREAD_ANNOTATION(x)
#endif

// Types.
#define CAPABILITY(name) CHAINFS_THREAD_ANNOTATION(capability(name))
#define SCOPED_CAPABILITY CHAINFS_THREAD_ANNOTATION(scoped_lockable)

// Data members.
#define GUARDED_BY(x) CHAINFS_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) CHAINFS_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) CHAINFS_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CHAINFS_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))

// What a function needs held (or not held) when it is called.
#define REQUIRES(...) CHAINFS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) CHAINFS_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) CHAINFS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// What a function takes or gives back (no argument: the object it is called on).
#define ACQUIRE(...) CHAINFS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) CHAINFS_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) CHAINFS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) CHAINFS_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) CHAINFS_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TRY_ACQUIRE_SHARED(...) CHAINFS_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))

// Tells the analysis a lock is held from here on, where it cannot see the locking itself.
#define ASSERT_CAPABILITY(x) CHAINFS_THREAD_ANNOTATION(assert_capability(x))
#define ASSERT_SHARED_CAPABILITY(x) CHAINFS_THREAD_ANNOTATION(assert_shared_capability(x))
// The function returns a reference to the lock x (an accessor of a private mutex).
#define RETURN_CAPABILITY(x) CHAINFS_THREAD_ANNOTATION(lock_returned(x))

#define NO_THREAD_SAFETY_ANALYSIS CHAINFS_THREAD_ANNOTATION(no_thread_safety_analysis)
