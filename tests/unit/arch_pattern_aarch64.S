/* tests/unit/arch_pattern_aarch64.S — see arch_test.cpp.
 *
 * void goro_test_switch_pattern(void** save_sp [x0], void* load_sp [x1],
 *                               uint64_t seed [x2], uint64_t out[18] [x3])
 * Puts seed+0..seed+9 in x19..x28 and seed+10..seed+17 in d8..d15, switches
 * with goro_context_switch, and when resumed stores those 18 registers in
 * out[]. The caller's own callee-saved registers are preserved.
 */
#if defined(__aarch64__)
        .text
        .globl  goro_test_switch_pattern
        .type   goro_test_switch_pattern, %function
        .p2align 4
goro_test_switch_pattern:
        .cfi_startproc
        stp     x29, x30, [sp, #-176]!
        .cfi_def_cfa_offset 176
        .cfi_offset x29, -176
        .cfi_offset x30, -168
        mov     x29, sp
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        str     x3, [sp, #160]
        mov     x19, x2
        add     x20, x2, #1
        add     x21, x2, #2
        add     x22, x2, #3
        add     x23, x2, #4
        add     x24, x2, #5
        add     x25, x2, #6
        add     x26, x2, #7
        add     x27, x2, #8
        add     x28, x2, #9
        add     x9, x2, #10
        fmov    d8, x9
        add     x9, x2, #11
        fmov    d9, x9
        add     x9, x2, #12
        fmov    d10, x9
        add     x9, x2, #13
        fmov    d11, x9
        add     x9, x2, #14
        fmov    d12, x9
        add     x9, x2, #15
        fmov    d13, x9
        add     x9, x2, #16
        fmov    d14, x9
        add     x9, x2, #17
        fmov    d15, x9
        bl      goro_context_switch
        ldr     x3, [sp, #160]
        stp     x19, x20, [x3, #0]
        stp     x21, x22, [x3, #16]
        stp     x23, x24, [x3, #32]
        stp     x25, x26, [x3, #48]
        stp     x27, x28, [x3, #64]
        stp     d8,  d9,  [x3, #80]
        stp     d10, d11, [x3, #96]
        stp     d12, d13, [x3, #112]
        stp     d14, d15, [x3, #128]
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldp     x29, x30, [sp], #176
        .cfi_def_cfa_offset 0
        ret
        .cfi_endproc
        .size   goro_test_switch_pattern, .-goro_test_switch_pattern
#endif
        .section .note.GNU-stack,"",%progbits
