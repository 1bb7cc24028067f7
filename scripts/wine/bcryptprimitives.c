/*
 * bcryptprimitives.dll for Wine 8 (Debian 12), which lacks it: the Windows tests run the
 * x86_64-pc-windows-gnu build under Wine, and Rust's std (1.78 and later) fills its random
 * bytes with ProcessPrng from this DLL, imported at load time. Without it Wine refuses to start
 * the program (exit code 53, nothing printed). This exports ProcessPrng and fills the buffer
 * through advapi32's RtlGenRandom (SystemFunction036), which Wine has. Test-only: scripts/setup
 * builds it with mingw-w64 and copies it into the private Wine prefix's system32.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Like the real one, it always succeeds for a valid buffer; RtlGenRandom takes a ULONG, so a
 * buffer over 4 GiB is filled in pieces. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, chunk))
			return FALSE;
		data += chunk;
		length -= chunk;
	}
	return TRUE;
}
