using System.Diagnostics.CodeAnalysis;

namespace MlPlatform.AppHost;

/// <summary>
/// Ends the AppHost before the application starts or anything is written, one line per problem and no stack
/// trace: what a person mistyped on the command line is theirs to fix, not a crash.
/// </summary>
internal static class StartupProblems
{
    public const int BadInputExitCode = 2;

    [DoesNotReturn]
    public static void Exit(IEnumerable<string> problems, string? closing = null)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"error: {problem}");
        }

        if (closing is not null)
        {
            Console.Error.WriteLine(closing);
        }

        Environment.Exit(BadInputExitCode);
    }
}
