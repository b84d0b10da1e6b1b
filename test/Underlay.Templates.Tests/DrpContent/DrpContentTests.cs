using System.Text;

namespace Underlay.Templates.Tests.DrpContent;

public sealed class DrpContentTests
{
    [Fact]
    public void Every_template_text_in_the_community_packs_parses()
    {
        var all = DrpContentPacks.All;
        var packs = all.Select(t => t.Pack).Distinct().Count();

        // The census counted 1135 texts in 36 packs; far fewer means the walk above missed a shape.
        Assert.True(all.Count >= 1100, $"found only {all.Count} template texts");
        Assert.True(packs >= 30, $"found templates in only {packs} packs");

        var failures = new StringBuilder();
        var count = 0;
        foreach (var t in all)
        {
            try
            {
                TemplateEngine.Shared.ParseUncached(t.Where, t.Text);
            }
            catch (TemplateException ex)
            {
                count++;
                failures.AppendLine($"{t}: {ex.Message}");
            }
        }

        Assert.True(count == 0, $"{count} of {all.Count} texts failed to parse:\n{failures}");
    }

    [Fact]
    public void Every_function_the_content_calls_is_known()
    {
        // Parsing checks this too; this names the functions, which makes a regression easy to read.
        var known = TemplateEngine.Shared;
        foreach (var name in new[] { "eq", "get", "hasKey", "not", "index", "set", "printf", "and", "ne", "join", "slice", "add", "replace", "toString", "trim", "toJson", "int", "len", "concat", "first", "cat", "hasPrefix", "or", "split", "contains", "empty", "has", "list", "lower", "regexFind", "regexMatch", "toPrettyJson", "trimSuffix", "uniq", "append", "coalesce", "le", "lt", "squote", "add1", "deepEqual", "dict", "float64", "ge", "mul", "trimPrefix", "values" })
        {
            Assert.True(known.HasFunction(name), name);
        }

        Assert.False(known.HasFunction("env"));
        Assert.False(known.HasFunction("expandenv"));
    }
}
