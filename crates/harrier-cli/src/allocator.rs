//! The process's allocator: mimalloc, asked for plain blocks where the layout allows.
//!
//! Reading an event allocates a string per field value, so allocation is a tenth of reading
//! EVTX. The `mimalloc` crate asks for every block by alignment (`mi_malloc_aligned`), whose
//! slow path, each time a page runs out, over-allocates and aligns by hand; every mimalloc
//! block is already aligned to the machine word, so for the layouts that need no more (strings,
//! vectors and boxes) the plain calls are enough.

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc, mi_zalloc_aligned,
};
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
            if layout.align() <= WORD {
                mi_malloc(layout.size())
            } else {
                mi_malloc_aligned(layout.size(), layout.align())
            }
        }
        .cast()
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                mi_zalloc(layout.size())
            } else {
                mi_zalloc_aligned(layout.size(), layout.align())
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
            if layout.align() <= WORD {
                mi_realloc(block.cast::<c_void>(), size)
            } else {
                mi_realloc_aligned(block.cast::<c_void>(), size, layout.align())
            }
        }
        .cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_bytes_when_grown() {
        for align in [1, 2, 8, 16, 64, 4096] {
            for size in [1, 7, 24, 100, 5000] {
                let layout = Layout::from_size_align(size, align).expect("a valid layout");
                // SAFETY: the layout has a non-zero size; each block is freed with it once.
                unsafe {
                    let block = Mimalloc.alloc(layout);
                    assert!(!block.is_null() && block.align_offset(align) == 0, "{size} bytes at {align}");
                    block.write_bytes(0xa5, size);
                    let grown = Mimalloc.realloc(block, layout, size * 3);
                    assert_eq!(grown.align_offset(align), 0, "{size} bytes at {align}, grown");
                    assert!((0..size).all(|at| *grown.add(at) == 0xa5));
                    Mimalloc.dealloc(grown, Layout::from_size_align(size * 3, align).expect("a valid layout"));
                    let zeroed = Mimalloc.alloc_zeroed(layout);
                    assert!(zeroed.align_offset(align) == 0 && (0..size).all(|at| *zeroed.add(at) == 0));
                    Mimalloc.dealloc(zeroed, layout);
                }
            }
        }
    }
}
