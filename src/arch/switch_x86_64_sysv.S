/* arch/switch_x86_64_sysv.S — context switch for x86-64, System V ABI, ELF.
 *
 * Saved frame (grows down; offsets from the saved stack pointer), see
 * context_x86_64.cpp for the static_asserts that mirror it:
 *    0  MXCSR (4 bytes), 4  x87 control word (2 bytes), 8 unused
 *   16  r15   24  r14   32  r13   40  r12   48  rbx   56  rbp
 *   64  return address
 * A fresh context holds entry in r13, arg in r12 and goro_context_start as
 * its return address.
 */
#if defined(__x86_64__)
        .text
        .globl  goro_context_switch
        .hidden goro_context_switch
        .type   goro_context_switch, @function
        .p2align 4
/* void goro_context_switch(void** save_sp [rdi], void* load_sp [rsi]) */
goro_context_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $16, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $16, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   goro_context_switch, .-goro_context_switch

        .globl  goro_context_start
        .hidden goro_context_start
        .type   goro_context_start, @function
        .p2align 4
/* First code a fresh context runs: entry(arg), which never returns. */
goro_context_start:
        .cfi_startproc
        .cfi_undefined rip      /* the outermost frame: unwinders stop here */
        xorl    %ebp, %ebp
        movq    %r12, %rdi
        callq   *%r13
        ud2
        .cfi_endproc
        .size   goro_context_start, .-goro_context_start
#endif
        .section .note.GNU-stack,"",@progbits
