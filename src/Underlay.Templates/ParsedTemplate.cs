using System.Collections.Frozen;
using Underlay.Templates.Parsing;

namespace Underlay.Templates;

/// <summary>
/// An immutable parsed template: the main text plus every <c>{{define}}</c> and <c>{{block}}</c> in it. Safe to
/// render from many threads at once. Obtain one from <see cref="TemplateEngine.Parse"/>.
/// </summary>
public sealed class ParsedTemplate
{
    internal ParsedTemplate(string name, string text, Dictionary<string, Tree> trees)
    {
        Name = name;
        Text = text;
        Trees = trees.ToFrozenDictionary(StringComparer.Ordinal);
        Main = Trees[name];
    }

    /// <summary>The name given to <see cref="TemplateEngine.Parse"/>; errors are reported against it.</summary>
    public string Name { get; }

    /// <summary>The source text.</summary>
    public string Text { get; }

    /// <summary>The names this text defines: its own name plus every {{define}}/{{block}}.</summary>
    public IEnumerable<string> DefinedTemplates => Trees.Keys;

    internal Tree Main { get; }

    internal FrozenDictionary<string, Tree> Trees { get; }
}

/// <summary>
/// An immutable collection of named templates, like the set of templates associated in Go by
/// <c>template.New(...).Parse</c> calls: each added template is reachable by its name and by the names it
/// <c>{{define}}</c>s. Later additions win, except that an empty definition never replaces a real one.
/// </summary>
public sealed class TemplateSet
{
    private readonly FrozenDictionary<string, Tree> _trees;

    /// <summary>An empty set.</summary>
    public static TemplateSet Empty { get; } = new(FrozenDictionary<string, Tree>.Empty);

    private TemplateSet(FrozenDictionary<string, Tree> trees)
    {
        _trees = trees;
    }

    /// <summary>Builds a set from templates, in order.</summary>
    public static TemplateSet Create(IEnumerable<ParsedTemplate> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        var trees = new Dictionary<string, Tree>(StringComparer.Ordinal);
        foreach (var t in templates)
        {
            AddTrees(trees, t);
        }

        return new TemplateSet(trees.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>A new set with <paramref name="template"/> (and its definitions) added.</summary>
    public TemplateSet Add(ParsedTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var trees = new Dictionary<string, Tree>(_trees, StringComparer.Ordinal);
        AddTrees(trees, template);
        return new TemplateSet(trees.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Whether <paramref name="name"/> is defined in the set.</summary>
    public bool Contains(string name) => _trees.ContainsKey(name);

    /// <summary>The names defined in the set.</summary>
    public IEnumerable<string> Names => _trees.Keys;

    internal bool TryGet(string name, out Tree tree) => _trees.TryGetValue(name, out tree!);

    private static void AddTrees(Dictionary<string, Tree> trees, ParsedTemplate template)
    {
        foreach (var (name, tree) in template.Trees)
        {
            if (tree.IsEmpty && trees.TryGetValue(name, out var old) && !old.IsEmpty)
            {
                continue;
            }

            trees[name] = tree;
        }
    }
}
