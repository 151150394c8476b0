//! The locks of the device model: `std::sync` with `std` (poisoned locks are recovered, so a panicking
//! test thread does not wedge the model), spin locks from the `spin` crate without it (no threads to wait
//! for in a single-threaded firmware environment such as UEFI; a spin lock never blocks there).
//!
//! Both sets of locks are `Sync`, so the model's types are `Send + Sync` with or without `std`.

#[cfg(feature = "std")]
mod imp {
    use std::sync::PoisonError;
    pub(crate) use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

    /// Locks a mutex, recovering the data of a poisoned one.
    pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a read lock, recovering a poisoned one.
    pub(crate) fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
        l.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a write lock, recovering a poisoned one.
    pub(crate) fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
        l.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    pub(crate) use spin::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

    /// Locks a mutex (spinning while another context holds it).
    pub(crate) fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock()
    }

    /// Takes a read lock.
    pub(crate) fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
        l.read()
    }

    /// Takes a write lock.
    pub(crate) fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
        l.write()
    }
}

pub(crate) use imp::{lock, read, write, Mutex, MutexGuard, RwLock};
