/* arch/switch_aarch64_aapcs.S — context switch for aarch64 (AAPCS64), ELF.
 *
 * Saved frame (offsets from the saved stack pointer), mirrored by the
 * static_asserts in context_aarch64.cpp:
 *    0 x19  8 x20  16 x21  24 x22  32 x23  40 x24  48 x25  56 x26
 *   64 x27 72 x28  80 x29 (fp)  88 x30 (lr: where the context resumes)
 *   96 d8 104 d9 112 d10 120 d11 128 d12 136 d13 144 d14 152 d15
 *  160 FPCR  168 unused                                  (176 bytes)
 * A fresh context holds entry in x20, arg in x19, and goro_context_start in x30.
 */
#if defined(__aarch64__)
        .text
        .globl  goro_context_switch
        .hidden goro_context_switch
        .type   goro_context_switch, %function
        .p2align 4
/* void goro_context_switch(void** save_sp [x0], void* load_sp [x1]) */
goro_context_switch:
        .cfi_startproc
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x9, sp
        str     x9, [x0]
        mov     sp, x1
        ldr     x9, [sp, #160]
        msr     fpcr, x9
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .cfi_endproc
        .size   goro_context_switch, .-goro_context_switch

        .globl  goro_context_start
        .hidden goro_context_start
        .type   goro_context_start, %function
        .p2align 4
/* First code a fresh context runs: entry(arg), which never returns. */
goro_context_start:
        .cfi_startproc
        .cfi_undefined x30      /* the outermost frame: unwinders stop here */
        mov     x29, #0
        mov     x0, x19
        blr     x20
        brk     #0
        .cfi_endproc
        .size   goro_context_start, .-goro_context_start
#endif
        .section .note.GNU-stack,"",%progbits
