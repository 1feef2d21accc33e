using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Crystalline.Hpc.Platform.Windows;

/// <summary>GROUP_AFFINITY: a 64-CPU mask within one processor group (16 bytes on 64-bit Windows).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GroupAffinity
{
    public nuint Mask;
    public ushort Group;
    private ushort _reserved0, _reserved1, _reserved2;
}

/// <summary>PROCESSOR_NUMBER: group and number within the group.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ProcessorNumber
{
    public ushort Group;
    public byte Number;
    private byte _reserved;
}

/// <summary>
/// The kernel32 calls the Windows back end needs, declared by hand (TerraFX.Interop.Windows does not
/// restore from this project's package source). Signatures follow the Windows SDK headers.
/// </summary>
[SupportedOSPlatform("windows")]
internal static unsafe partial class Kernel32
{
    private const string Dll = "kernel32.dll";

    public const uint MemCommit = 0x1000;
    public const uint MemReserve = 0x2000;
    public const uint MemRelease = 0x8000;
    public const uint PageReadWrite = 0x04;

    public const int ErrorInsufficientBuffer = 122;

    [LibraryImport(Dll, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool GetLogicalProcessorInformationEx(int relationshipType, byte* buffer, uint* returnedLength);

    [LibraryImport(Dll)]
    public static partial nint GetCurrentThread();

    [LibraryImport(Dll)]
    public static partial nint GetCurrentProcess();

    [LibraryImport(Dll, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool SetThreadGroupAffinity(nint thread, GroupAffinity* groupAffinity, GroupAffinity* previousGroupAffinity);

    [LibraryImport(Dll, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool GetThreadGroupAffinity(nint thread, GroupAffinity* groupAffinity);

    [LibraryImport(Dll)]
    public static partial void GetCurrentProcessorNumberEx(ProcessorNumber* processorNumber);

    [LibraryImport(Dll)]
    public static partial ushort GetActiveProcessorGroupCount();

    [LibraryImport(Dll)]
    public static partial uint GetActiveProcessorCount(ushort groupNumber);

    [LibraryImport(Dll, SetLastError = true)]
    public static partial void* VirtualAllocExNuma(nint process, void* address, nuint size, uint allocationType, uint protect, uint preferredNode);

    [LibraryImport(Dll, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool VirtualFree(void* address, nuint size, uint freeType);
}
