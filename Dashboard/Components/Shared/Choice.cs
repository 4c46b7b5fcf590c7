namespace MlPlatform.Dashboard.Components.Shared;

/// <summary>One entry of a filter drop-down; an empty <see cref="Value"/> means "no filter".</summary>
public sealed record Choice(string Value, string Text);
