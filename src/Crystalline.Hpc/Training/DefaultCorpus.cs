using System.Text;
using Crystalline.Hpc.Model;

namespace Crystalline.Hpc.Training;

/// <summary>
/// The built-in training corpus: deterministic text from a small English-like grammar, so
/// <c>crystalline train</c> with no arguments learns something real without a download.
/// Three kinds of lines, all lower-case ASCII:
/// <list type="bullet">
/// <item>sentences "det adj noun verb det adj noun." with number agreement (a/the/one + singular noun + "sees";
/// two/three/some + plural noun + "see"), so the model must carry the subject's number to the verb;</item>
/// <item>counting runs "three four five six." that continue from a random start;</item>
/// <item>sums of small numbers in words "two plus three is five."</item>
/// </list>
/// The byte-level unigram entropy of this text is about 2.9 nats; a model that learns the grammar gets well below it.
/// </summary>
public static class DefaultCorpus
{
    private static readonly string[] s_adj = ["red", "small", "old", "green", "quiet", "bright", "young", "tall", "dark", "happy"];
    private static readonly string[] s_noun = ["cat", "dog", "bird", "fox", "horse", "child", "tree", "river", "stone", "king", "ship", "star"];
    private static readonly string[] s_nounPl = ["cats", "dogs", "birds", "foxes", "horses", "children", "trees", "rivers", "stones", "kings", "ships", "stars"];
    private static readonly (string Sg, string Pl)[] s_verb = [("sees", "see"), ("finds", "find"), ("follows", "follow"), ("likes", "like"), ("watches", "watch"), ("carries", "carry")];
    private static readonly string[] s_num = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

    /// <summary>Generates about <paramref name="approximateBytes"/> bytes of corpus text from <paramref name="seed"/> (same seed → same text).</summary>
    public static string Generate(int approximateBytes = 400_000, ulong seed = 12)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(approximateBytes);
        var rng = new DeterministicRandom(seed);
        int Pick(int n) => (int)(rng.NextUInt64() % (ulong)n);
        var sb = new StringBuilder(approximateBytes + 100);
        while (sb.Length < approximateBytes)
        {
            int kind = Pick(10);
            if (kind < 6)
            {
                bool plural = Pick(2) == 1;
                string det = plural ? new[] { "two", "three", "some" }[Pick(3)] : new[] { "a", "the", "one" }[Pick(3)];
                int n = Pick(s_noun.Length);
                var v = s_verb[Pick(s_verb.Length)];
                bool objPlural = Pick(2) == 1;
                string objDet = objPlural ? new[] { "two", "three", "some" }[Pick(3)] : new[] { "a", "the", "one" }[Pick(3)];
                int on = Pick(s_noun.Length);
                sb.Append(det).Append(' ').Append(s_adj[Pick(s_adj.Length)]).Append(' ').Append(plural ? s_nounPl[n] : s_noun[n]).Append(' ')
                  .Append(plural ? v.Pl : v.Sg).Append(' ').Append(objDet).Append(' ').Append(s_adj[Pick(s_adj.Length)]).Append(' ')
                  .Append(objPlural ? s_nounPl[on] : s_noun[on]).Append(".\n");
            }
            else if (kind < 8)
            {
                int start = Pick(8), len = 3 + Pick(3);
                for (int i = 0; i < len && start + i < s_num.Length; i++) sb.Append(i == 0 ? "" : " ").Append(s_num[start + i]);
                sb.Append(".\n");
            }
            else
            {
                int a = Pick(7), b = Pick(6);
                sb.Append(s_num[a]).Append(" plus ").Append(s_num[b]).Append(" is ").Append(s_num[a + b]).Append(".\n");
            }
        }
        return sb.ToString();
    }
}
