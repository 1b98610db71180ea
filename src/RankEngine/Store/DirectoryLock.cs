using System.Diagnostics;
using System.Globalization;

namespace RankEngine.Store;

/// <summary>
/// Exclusive ownership of a data directory for the life of an open store. The lock is the lock file opened with
/// <see cref="FileShare.None"/> (on Linux and macOS .NET takes an advisory <c>flock</c>, on Windows the OS enforces the
/// share mode), so it disappears with the process: a store killed with SIGKILL can be reopened at once, while a second
/// open of a live store fails with <see cref="StoreLockedException"/>.
/// </summary>
internal sealed class DirectoryLock : IDisposable
{
    public const string LockFileName = "rankstore.lock";
    public const string OwnerFileName = "rankstore.owner";

    private readonly FileStream _stream;

    private DirectoryLock(FileStream stream) => _stream = stream;

    public static DirectoryLock Acquire(string directory)
    {
        string lockPath = Path.Combine(directory, LockFileName);
        string ownerPath = Path.Combine(directory, OwnerFileName);
        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            string owner = "";
            try
            {
                owner = File.ReadAllText(ownerPath).Trim();
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            throw new StoreLockedException(directory,
                $"The store directory '{directory}' is already open (lock file '{lockPath}' is held{(owner.Length > 0 ? $" by {owner}" : "")}). " +
                "Only one RankStore may open a data directory at a time; close the other store or use another directory.", e);
        }
        // Informational only: who holds the lock, for the message above.
        File.WriteAllText(ownerPath, string.Create(CultureInfo.InvariantCulture,
            $"process {Environment.ProcessId} ({Process.GetCurrentProcess().ProcessName}) since {DateTime.UtcNow:O}"));
        return new DirectoryLock(stream);
    }

    public void Dispose() => _stream.Dispose();
}
