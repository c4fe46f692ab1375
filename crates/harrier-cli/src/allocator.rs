//! The process's allocator: mimalloc, asked for plain blocks where the layout allows.
//!
//! Reading an event allocates a string per field value, so allocation is a tenth of reading
//! EVTX. The `mimalloc` crate asks for every block by alignment (`mi_malloc_aligned`), whose
//! slow path, each time a page runs out, over-allocates and aligns by hand; every mimalloc
//! block is already aligned to the machine word, so for the layouts that need no more (all
//! of Harrier's strings, vectors and maps) the plain calls are enough.

use libmimalloc_sys::{mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned};
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// The alignment every mimalloc block has, whatever its size: blocks are whole words.
const WORD: usize = std::mem::align_of::<usize>();

pub struct Mimalloc;

// SAFETY: each method hands the layout's size (and, past a word, its alignment) to the
// mimalloc call made for it, and frees only what mimalloc gave.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            match layout.align() <= WORD {
                true => mi_malloc(layout.size()),
                false => mi_malloc_aligned(layout.size(), layout.align()),
            }
        }
        .cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            match layout.align() <= WORD {
                true => mi_zalloc(layout.size()),
                false => mi_zalloc_aligned(layout.size(), layout.align()),
            }
        }
        .cast()
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, _layout: Layout) {
        // SAFETY: see the impl.
        unsafe { mi_free(block.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            match layout.align() <= WORD {
                true => mi_realloc(block.cast::<c_void>(), size),
                false => mi_realloc_aligned(block.cast::<c_void>(), size, layout.align()),
            }
        }
        .cast()
    }
}
