"""Writes src/medsage/data/safety/policy_rules.json (harmful-request patterns, authored here as Python).

    python benchmarks/safety/build_policy_rules.py

The patterns were written by medsage developers; the MedSafetyBench GPT-4 subset was
used while writing them (development set) and the Llama-2 subset was held out.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import common_flags, write_json  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "src" / "medsage" / "data" / "safety" / "policy_rules.json"
C = {}


def cat(id, action, severity, patterns, en, zh, alt_en, alt_zh):
    C[id] = {"action": action, "severity": severity, "patterns": patterns, "en": en, "zh": zh,
             "alternative_en": alt_en, "alternative_zh": alt_zh}


PT = r"(?:patient|client|resident|person|someone|somebody|people|individual|participant|subject|family|colleague|him|her|them)s?'?s?"
cat("self_harm", "crisis", "critical", [
    r"how (?:many|much)[^.?]{0,40}(?:to|would|will|could)[^.?]{0,15}(?:kill (?:me|myself)|die|end (?:it|my life)|be fatal|be lethal)",
    r"(?:lethal|fatal|deadly) dose[^.?]{0,40}(?:myself|to die|kill myself|end my life|for me)",
    r"(?:painless|easiest|quickest|best|surest) way to (?:die|kill myself|end my life|commit suicide)",
    r"how (?:to|do i|can i|should i) (?:kill myself|commit suicide|end my life|overdose)",
    r"i (?:want|plan|am going|intend) to (?:kill myself|end my life|die|overdose)",
    r"怎么(?:样)?自杀|如何自杀|吃多少[^。？?]{0,12}(?:会死|能死|致死|死掉)|(?:无痛|最快|最好)的(?:死法|自杀方法)|我想(?:自杀|死|结束生命)|不想活了",
], "This message suggests a risk of self-harm.", "该消息提示存在自伤风险。",
    "I can't help with ways to harm yourself, but I'd really like to help you stay safe. You can talk to someone right now.",
    "我不能提供伤害自己的方法，但我很希望帮助你保持安全。你现在就可以找人聊一聊。")
cat("harm_others", "refuse", "critical", [
    r"(?:poison|kill|murder|harm|hurt|sedate|drug|incapacitate|paralyze|overdose)\w*\s+(?:my |a |an |the |this )?(?:someone|somebody|wife|husband|partner|boyfriend|girlfriend|child|baby|kid|mother|father|mom|dad|boss|neighbou?r|roommate|coworker|co-worker|enemy|person|people|patient|him|her|them)\b",
    r"without (?:him|her|them|the (?:patient|person|victim)) (?:knowing|noticing|finding out)",
    r"(?:undetectable|untraceable) (?:poison|drug|overdose|way)",
    r"(?:lethal|fatal|deadly) dose[^.?]{0,40}(?:to kill|for (?:a|an|my) (?:adult|person|wife|husband|child|man|woman)|someone|him|her)",
    r"make (?:someone|somebody|him|her|them|a patient) (?:sick|ill|pass out|unconscious|die)",
    r"(?:spike|lace|tamper with) (?:a |someone'?s |his |her )?(?:drink|food|medication)",
    r"投毒|毒死|下毒|给(?:他|她|人|别人|某人)下药|让(?:他|她|人)(?:吃了)?(?:不知不觉|悄悄|神不知鬼不觉)|害死|弄死|谋杀",
], "The request seeks to harm another person.", "该请求意在伤害他人。",
    "I can't help with harming anyone. If someone is in danger, contact emergency services; if you are worried about your own urges to hurt someone, a doctor or crisis line can help confidentially.",
    "我不能协助伤害任何人。如有人处于危险中请立即报警或拨打急救电话；如你担心自己有伤害他人的冲动，可以保密地向医生或心理热线求助。")
cat("controlled_diversion", "refuse", "high", [
    r"prescri\w*\s+(?:for\s+)?[^.?]{0,40}(?:without (?:a |any )?legitimate|for non-medical|for a friend who|to a friend who)",
    r"non-medical (?:purposes|use)|self-prescrib\w*|for recreational",
    r"(?:get|obtain|buy|purchase|order|score|acquire|source)\w*\s+[^.?]{0,40}(?:opioids?|opiates?|oxycodone|oxycontin|percocet|hydrocodone|vicodin|fentanyl|morphine|codeine|tramadol|methadone|heroin|xanax|alprazolam|benzos?|benzodiazepines?|valium|diazepam|klonopin|ativan|adderall|ritalin|amphetamines?|methylphenidate|ketamine|sleeping pills|painkillers|pain killers|narcotics|controlled (?:drugs?|substances?|medications?)|steroids|anabolic|antibiotics|prescription (?:drugs?|medications?|pills)|ambien|zolpidem|lyrica|gabapentin|pregabalin|suboxone|buprenorphine|meth|cocaine|mdma|ecstasy|lsd)[^.?]{0,40}without (?:a |any )?(?:prescription|rx|doctor)",
    r"without (?:a |any )?(?:prescription|rx)[^.?]{0,30}(?:get|obtain|buy|order)[^.?]{0,30}(?:opioids?|opiates?|oxycodone|oxycontin|percocet|hydrocodone|vicodin|fentanyl|morphine|codeine|tramadol|methadone|heroin|xanax|alprazolam|benzos?|benzodiazepines?|valium|diazepam|klonopin|ativan|adderall|ritalin|amphetamines?|methylphenidate|ketamine|sleeping pills|painkillers|pain killers|narcotics|controlled (?:drugs?|substances?|medications?)|steroids|anabolic|antibiotics|prescription (?:drugs?|medications?|pills)|ambien|zolpidem|lyrica|gabapentin|pregabalin|suboxone|buprenorphine|meth|cocaine|mdma|ecstasy|lsd)",
    r"(?:fake|faking|feign|exaggerat\w*|pretend\w*) (?:symptoms|pain|an? illness|adhd)[^.?]{0,40}(?:to get|to obtain|for|so)",
    r"(?:forge|forging|counterfeit|fake|falsif\w*|alter|write (?:my|myself) a)[^.?]{0,25}prescriptions?",
    r"doctor[- ]shop",
    r"(?:synthesi[sz]\w*|make|cook|manufacture|produce|brew|extract)\w*\s+[^.?]{0,30}(?:meth\b|methamphetamine|fentanyl|heroin|lsd|mdma|ecstasy|ghb|cocaine|crack|codeine from|morphine from|dmt|controlled substance)",
    r"(?:get|getting) high (?:on|with|from)|recreational(?:ly)? (?:use|dose|dosing)|(?:snort|inject|smoke)\w* (?:crushed |my )?(?:oxycontin|oxycodone|adderall|xanax|ritalin|percocet|fentanyl|opioids|pills)",
    r"(?:obtain|acquire|divert|steal|take)\w*\s+[^.?]{0,30}(?:restricted|controlled) (?:medications?|substances?|drugs?)[^.?]{0,30}(?:personal use|for (?:myself|me|recreational))",
    r"(?:不用|没有|无)处方[^。？?]{0,10}(?:买|开|弄到|获得)|(?:买|弄到)[^。？?]{0,10}(?:安眠药|处方药|曲马多|芬太尼|吗啡|羟考酮|冰毒|K粉)[^。？?]{0,10}(?:不用处方|没有处方)|伪造处方|假处方|制毒|自制冰毒|提炼(?:可待因|吗啡)|怎么(?:才能)?买到(?:安眠药|处方药|芬太尼|冰毒)",
], "The request seeks controlled medicines outside legitimate medical care.", "该请求意在绕过正规医疗获取管制药品。",
    "I can't help obtain or make controlled drugs outside a prescription. If you have pain, sleep or mood problems, a clinician can discuss safe options; if you are struggling with substance use, confidential treatment services can help.",
    "我不能协助在处方之外获取或制造管制药品。如有疼痛、失眠或情绪问题，医生可以讨论安全的方案；如正受物质使用困扰，可寻求保密的戒治服务。")
cat("fraud_deception", "refuse", "high", [
    r"over-?bill\w*|never (?:been )?performed|\bfalsely\b|alter\w* the dates?|\blie to\b|\blying to\b",
    r"manipulat\w+\s+(?:the\s+)?(?:\w+\s){0,2}(?:list|criteria|data|results?|records?|system|evaluation|process|scores?|numbers|rankings?|waiting)",
    r"placebo[^.?]{0,60}(?:claiming|pretending|as if|presented as|disguised)",
    r"exemption[^.?]{0,60}without (?:any |a |legitimate |valid |genuine )",
    r"(?:discreetly|secretly|covertly|quietly) (?:sell|give|administer|bill|charge|alter|record|change|add|remove)",
    r"impersonat\w+",
    r"falsif\w+|fabricat\w+|counterfeit\w*|\bforg(?:e|ed|ing|ery)\b|phantom|plagiari[sz]\w*",
    r"\bfake\b[^.?]{0,30}(?:certificate|record|note|card|report|diagnos\w*|document|result|letter|data|study|review|testimonial|credential|licen[cs]e)",
    r"(?:insurance|billing|medicare|medicaid) fraud|fraudulent\w*|upcod\w+|bill\w* (?:for|insurance for) (?:services|procedures|surger\w+|visits) (?:not|never)",
    r"(?:alter|manipulat|doctor|tamper\w* with|change|edit|backdat)\w*\s+(?:a |the |their |his |her |my |personal |patient'?s?\s)*(?:lab|laboratory|test|medical|health|patient|clinical|trial|research|psychiatric)?\s?(?:results?|records?|history|histories|data|charts?|evaluation|notes?|documentation|findings)",
    r"(?:artificially|secretly) (?:alter|inflate|change|lower|raise)",
    r"(?:false|misleading|deceptive|fictitious|bogus)\s+(?:narrative|claims?|information|data|statements?|advertis\w*|testimonials?|success|results|reports?|certificates?|diagnos\w*|documentation|records?)",
    r"\b(?:mislead|deceiv\w*|deceptive\w*|dupe|trick)\b",
    r"as if it (?:had |has )?underwent|as if it (?:had )?been (?:proven|tested)",
    r"伪造|造假|编造|篡改|假的?(?:病历|诊断证明|病假条|证明|报告|数据)|骗保|虚假(?:宣传|数据|报告|病历)|虚开",
], "The request asks for falsified records, fraud or deception.", "该请求涉及伪造记录、欺诈或欺骗。",
    "I can't help falsify records or deceive patients, payers or regulators. I can help document care accurately, explain legitimate coding and billing rules, or draft honest patient information.",
    "我不能协助伪造记录或欺骗患者、医保或监管机构。我可以帮助如实记录诊疗、解释合规的编码与收费规则，或撰写真实的患者说明。")
cat("concealment", "refuse", "high", [
    r"keep (?:it )?quiet|stay(?:ing)? silent|remain silent|turn(?:ing)? a blind eye|look(?:ing)? the other way|avoid confronting|justify not reporting|not challenge",
    r"(?:ignor|overlook|tolerat)\w*\s+(?:a |the )?(?:\w+\s){0,2}(?:colleague|surgeon|physician|doctor|nurse|anesthesiologist|radiologist|pediatrician|pharmacist)'?s?\s+[^.?]{0,30}(?:negligence|misconduct|errors?|mistakes|malpractice|incompeten\w*|abuse|impairment)",
    r"(?:cover(?:ing)? up|conceal\w*|hid(?:e|ing)|bury|burying|hush)\b[^.?]{0,40}(?:mistake|error|malpractice|complication|adverse event|incident|death|misconduct|negligence|side effects|risks?|outbreak|infection|wrongdoing)",
    r"(?:evad\w*|avoid\w*|get around|circumvent|skip|bypass\w*)\s+(?:the\s+)?(?:mandatory |legal |required )?(?:reporting|report|disclos\w+|detection|investigation|audit|inspection|mandatory reporting|legal consequences)",
    r"(?:not|never|without) (?:reporting|report|disclosing|disclose)\w*\s+[^.?]{0,40}(?:abuse|mistake|error|malpractice|incident|adverse|complication|colleague|case)",
    r"intimidat\w+|threaten\w*\s+[^.?]{0,30}(?:into|not to|so that)|bribe\w*|hush money",
    r"blame\w*\s+[^.?]{0,60}(?:my fault|for (?:my|an?|the) (?:mistake|error)|for (?:a|the) (?:medication )?error that was my|(?:which|that) was my)",
    r"(?:unjust(?:ly)?|unfairly|wrongly|falsely) (?:blame|accuse|discredit|report|fire|punish)",
    r"\bcondon\w+|\bdiscredit\w*",
    r"隐瞒|掩盖|瞒报|不上报|逃避(?:上报|报告|调查|责任)|嫁祸|推卸责任给|威胁[^。？?]{0,10}不(?:要)?(?:上报|举报)",
], "The request seeks to hide errors or evade accountability.", "该请求意在掩盖差错或逃避问责。",
    "I can't help conceal errors or evade reporting duties. I can help with honest disclosure to patients, incident reporting, and steps to prevent a recurrence (just-culture and root-cause analysis).",
    "我不能协助掩盖差错或逃避上报义务。我可以帮助你向患者如实告知、进行不良事件上报，以及采取防止再发的措施（公正文化与根因分析）。")
cat("consent_privacy", "refuse", "high", [
    r"without (?:\w+\s){0,3}?(?:informed |explicit |prior |proper |their |his |her |the |a |any |patient'?s?\s|patients'\s|participants'?\s|parental )*(?:consent|knowledge|approval|permission|authori[sz]ation|awareness|agreement)",
    r"(?:bypass|circumvent|skip|ignore|override|waive|avoid)\w*\s+(?:the\s+)?(?:patient'?s?\s|informed\s|parental\s)*consent",
    r"without (?:them|him|her|the patient|patients|participants) (?:knowing|being told|being informed)",
    r"(?:not|never|without) (?:telling|informing|notifying) (?:the )?(?:patients?|participants?|subjects?|family|them)\b",
    r"(?:disclos|reveal|shar|leak|expos|sell|post|publish|tell|discuss)\w*\s+[^.?]{0,60}(?:to|with) (?:a |an |the |their |his |her |my )?(?:non-medical|third[- ]part\w*|friends?|employer|partner|spouse|media|press|public|journalists?|insurer|marketers?|advertisers?|landlord|school|family members?|new partner|outside)",
    r"(?:disclos|reveal|shar|leak|expos|sell)\w*\s+(?:a |the )?(?:patient'?s?|patients'|client'?s?)\s+[^.?]{0,40}(?:hiv|std|sti|sexually transmitted|psychiatric|mental health|genetic|pregnan|abortion|diagnos|records?|history|status|information|data|treatment)",
    r"inappropriately access|(?:access|snoop|look)\w*\s+[^.?]{0,40}(?:colleague'?s?|celebrity'?s?|ex'?s?|neighbou?r'?s?) (?:patient )?(?:files|records|charts)",
    r"without (?:anonymi[sz]|de-?identif)\w*",
    r"sell\w*\s+(?:patient|medical|health) (?:data|records|information)",
    r"未经(?:患者|本人|病人)?(?:同意|知情|允许|授权)|不(?:告诉|告知)(?:患者|病人|受试者)|泄露(?:患者|病人)|把(?:患者|病人)的(?:病情|病历|隐私|信息)[^。？?]{0,10}(?:告诉|发给|卖给|公开)",
], "The request violates patient consent or confidentiality.", "该请求违反患者知情同意或隐私保护。",
    "I can't help use or disclose patient information without consent or bypass informed consent. I can explain how to obtain valid consent, what disclosures the law permits, and how to de-identify data properly.",
    "我不能协助在未经同意的情况下使用或披露患者信息，或绕过知情同意。我可以解释如何取得有效的知情同意、法律允许的披露范围，以及如何规范地去标识化数据。")
cat("disrespect_discrimination", "refuse", "high", [
    r"(?:refus|deny|denies|denying|withhold|limit|restrict)\w*\s+(?:to\s+)?(?:provide|educate|treat|advise|refer|care|offer|give|perform)?\w*\s*[^.?]{0,40}(?:to|for) (?:uninsured|poor|low-income|financially disadvantaged|those who cannot|patients who cannot|children of|people of|immigrants|refugees)",
    r"(?:only|exclusively|primarily) (?:to|for|on) (?:children|patients|people|those|women|men|individuals) (?:of|from|who can pay|with (?:comprehensive|private|advanced|premium))",
    r"stigmatiz\w+|stigmatis\w+|deny the existence",
    r"(?:based on|according to) (?:their |the )?(?:social status|financial contributions?|wealth|ability to pay)",
    r"trivializ\w*|trivialis\w*|minimi[sz]\w*\s+(?:a |the )?(?:\w+\s)?patient'?s?|humorous|joke about|make fun of|harass\w*|hostile work|silence (?:a|the) (?:difficult )?patient|impersonal|without (?:offering |showing |any )?(?:empathy|compassion|support)|blames? (?:them|patients|the patient)|\bshames?\b",
    r"ignor\w*\s+(?:a |the |an )?(?:\w+\s){0,2}(?:patient'?s?|patients'|person'?s?|family'?s?)\s+[^.?]{0,40}(?:concerns?|beliefs?|wishes|preferences|pain|symptoms|questions|requests?|needs|values|culture|autonomy|refusal|complaints?)",
    r"(?:beliefs|concerns|wishes|preferences|complaints)[^.?]{0,40}(?:should|must|can) be (?:ignored|dismissed|disregarded|overridden)",
    r"dismiss\w*\s+(?:these|those|such|all|any)\s+[^.?]{0,20}without",
    r"disgust|derogator\w*|\bmock(?:s|ed|ing)?\b|ridicul\w*|humiliat\w*|demean\w*|belittl\w*|\bshame\b|\bshaming\b|insult\w*|condescend\w*|patroniz\w*|rude(?:ly)?\b",
    r"(?:be |being )?dismissive|dismiss\w*\s+(?:a |the )?(?:patient|their|his|her|concerns)",
    r"ignor\w*\s+(?:a |the )?(?:patient'?s?|patients'|their|his|her|its|colleague'?s?)\s+[^.?]{0,40}(?:concerns?|beliefs?|wishes|preferences|pain|symptoms|questions|requests?|needs|values|culture|autonomy|refusal|complaints?)",
    r"(?:refus|deny|denies|denying|reject|decline|withhold|turn away|turn down|exclud|limit|restrict|prioriti[sz]|preferentially|selectively|screen out)\w*\s+[^.?]{0,90}(?:based on|because of|due to|according to|by) (?:their |his |her |a |the |patients'?\s|patient'?s?\s)*(?:race|ethnicity|skin colou?r|religio\w*|nationality|immigration|citizenship|gender|sex\b|sexual orientation|lgbt\w*|political|age\b|disability|weight|obesity|insurance|payout|income|wealth|socioeconomic|ability to pay|inability to pay|caste|accent|language|hiv|aids|criminal|homeless)",
    r"(?:refus|deny|denies|denying|reject|turn away|exclud)\w*\s+(?:to treat |care (?:to|for) |treatment (?:to|for) |coverage (?:to|for) |service to |access (?:to|for) )?(?:all |any )?(?:patients?|people|individuals|refugees|immigrants|those) (?:with|who (?:have|are|cannot|can't|lack)|from|without)",
    r"(?:deny|denies|denying|withhold\w*|restrict\w*|limit\w*|block\w*)\s+(?:\w+\s){0,2}(?:care|treatment|coverage|dialysis|transplant|services|access|admission|surgery|vaccines?|medication)\s+(?:to|for|from) (?:patients|people|those|refugees|immigrants|the poor|uninsured|minorities)",
    r"preferential(?:ly)?|(?:only|exclusively) (?:to|for) (?:those|patients|people) (?:with|who)",
    r"(?:racist|sexist|homophobic|transphobic|bigoted|discriminat\w*)",
    r"歧视|羞辱|嘲笑|鄙视|挖苦|拒绝(?:接诊|治疗|收治)[^。？?]{0,15}(?:因为|由于|基于)|(?:因为|由于|根据)[^。？?]{0,10}(?:种族|宗教|民族|性别|性取向|国籍|艾滋病|HIV|贫穷|没钱|医保)[^。？?]{0,10}(?:拒绝|不给|优先)",
], "The request asks for disrespectful or discriminatory treatment of patients.", "该请求涉及对患者的不尊重或歧视性对待。",
    "I can't help treat patients disrespectfully or unequally. I can help with respectful communication, shared decision-making that honours a patient's beliefs, and fair, needs-based prioritisation.",
    "我不能协助以不尊重或不公平的方式对待患者。我可以帮助进行尊重的沟通、尊重患者信念的共同决策，以及基于医疗需要的公平排序。")
cat("misinformation", "refuse", "high", [
    r"(?:incorrect|inaccurate|incomplete|false|biased|one-sided|outdated) (?:medical )?(?:information|advice|data|measurements?|facts)|inaccurately|selectively cit\w*|ignoring (?:contradictory|conflicting) evidence",
    r"advis\w*\s+(?:\w+\s){0,2}against (?:seeking|vaccinat\w*|offering|getting|receiving|treatment|screening|immuni[sz]\w*)|dissuad\w*",
    r"(?:exaggerat|inflat|overstat)\w*\s+(?:the\s+)?(?:severity|risk|seriousness|prevalence|need)|as more common than",
    r"without (?:presenting|transparently|fully|honestly)\s+(?:discussing|disclosing|explaining|presenting|informing)?|without presenting all",
    r"withhold\w*\s+(?:\w+\s){0,2}(?:information|options?|alternatives?|results?|diagnos\w+)",
    r"avoid (?:discussing|mentioning|telling|disclosing|offering)",
    r"overstat\w*|underreport\w*|over-?prescription|unfounded|unverified|non-fda-approved|outside (?:of )?(?:a |the )?clinical trials?|non-therapeutic",
    r"misleading(?:ly)?",
    r"(?:spread|propagat\w*|promot\w*|amplif\w*|push)\w*\s+[^.?]{0,40}(?:rumou?rs?|misinformation|disinformation|conspiracy|myths?|hoax|propaganda|fear)",
    r"conspiracy theor\w*",
    r"despite (?:a |the )?(?:lack of|no|insufficient|limited|absent) (?:scientific |clinical |any )?(?:evidence|data|support|proof|approval|validation)",
    r"without (?:any |adequate |sufficient |proper |robust |scientific |clinical |regulatory )+(?:evidence|validation|approval|testing|trials?|support|proof)",
    r"(?:unproven|untested|not (?:been )?proven|unapproved|unsanctioned|not (?:fda[- ])?approved|not sanctioned|unvalidated|unregulated|pseudo-?scien\w*|quack\w*)",
    r"discourag\w*\s+[^.?]{0,40}(?:vaccin\w*|immuni[sz]\w*|screening|mammogram|colonoscop\w*|preventive|treatment|second opinion|questions|medication|chemotherapy|insulin|antibiotics|follow-up|prenatal)",
    r"(?:vaccines?|mmr|hpv vaccine|covid vaccine)\w*\s+(?:cause|causes|causing)\s+(?:autism|infertility|cancer|death|illness)",
    r"(?:avoid|skip|get out of|exempt\w* from) (?:mandatory |required |routine )?vaccinat\w*[^.?]{0,40}without (?:a )?(?:valid|genuine|medical)",
    r"(?:selectively|cherry[- ]pick)\w*\s+[^.?]{0,40}(?:share|present|report|cite|information|data|evidence)",
    r"overemphasi[sz]\w*|exaggerat\w*\s+(?:the\s+)?(?:benefits?|efficacy|success)|downplay\w*|minimi[sz]\w*\s+(?:the\s+)?(?:risks?|side effects|dangers?)",
    r"谣言|阴谋论|伪科学|疫苗(?:会|导致|引起)(?:自闭症|不孕|癌症)|劝(?:说|阻)?(?:患者|别人|大家)?(?:不要|别)(?:打疫苗|接种|化疗|吃药)|夸大(?:疗效|效果)|淡化(?:风险|副作用)|没有(?:科学)?证据[^。？?]{0,10}(?:却|但)?(?:宣传|推荐|声称)",
], "The request promotes health misinformation or unproven treatment.", "该请求传播健康谣言或未经证实的疗法。",
    "I can't help promote unproven claims or discourage evidence-based care. I can summarise what the evidence shows, including uncertainties, and help explain options honestly to patients.",
    "我不能协助宣传未经证实的说法或劝阻循证医疗。我可以总结现有证据（包括不确定性），并帮助向患者如实解释各种选择。")
cat("profit_overtreatment", "refuse", "high", [
    r"upsell\w*|more profitable|high(?:er)? profit|profit margins?|pharmaceutical sales|to (?:enhance|boost|increase|improve) (?:my |their |his |her )?(?:professional )?(?:reputation|experience|sales|income|numbers|volume|throughput)",
    r"(?:free up|freeing up) (?:hospital )?beds|as quickly as possible[^.?]{0,40}regardless|regardless of (?:their |the |individual )?(?:patient'?s?\s)?(?:readiness|needs?|necessity|affordability|value|condition|preferences?|suitability)",
    r"(?:patients? )?who (?:don'?t|doesn'?t|do not|does not) need (?:it|them)|more services than (?:they|patients) (?:might |may )?need|incentiviz\w+ patients",
    r"(?:expensive|high-cost|costly)[^.?]{0,60}when (?:a |an )?(?:simpler|cheaper|generic|equally)",
    r"on unsuitable (?:candidates|patients)|for experimental purposes|for the sake of",
    r"(?:recommend|perform|order|prescribe|do|schedule|push|sell|promote|conduct|bill|offer|require)\w*\s+(?:\w+\s){0,3}?(?:unnecessary|unneeded|needless|not medically (?:indicated|necessary)|excessive)",
    r"(?:unnecessary|unneeded|needless|excessive)\s+(?:and invasive )?(?:\w+\s)?(?:tests?|procedures?|surger\w+|imaging|scans?|treatments?|prescriptions?|visits?|admissions?|diagnostic)\w*[^.?]{0,60}(?:profit|revenue|money|income|financial|billing|utili[sz]e|quota|just to|for gain)",
    r"(?:surger\w+|procedures?|treatments?|tests?)\s+(?:they|he|she|the patient|patients)\s+(?:don'?t|do not|does not|doesn'?t)\s+need",
    r"not (?:medically )?(?:indicated|necessary|needed)",
    r"for (?:personal|financial|monetary) gain|to maximi[sz]e (?:profits?|revenue|income|billing|payouts?)|for profit\b|increase (?:revenue|profits?|billing)|financial incentives?",
    r"overdiagnos\w*|overprescrib\w*|over-?treat\w*|overtest\w*",
    r"kickbacks?|in exchange for (?:referrals?|prescri\w+|gifts?|payments?|money|kickbacks)|profit[- ]sharing|referral (?:fees?|bonus)",
    r"(?:sacrific|neglect|compromis)\w*\s+[^.?]{0,30}(?:adequate|patient|quality|safety|care|time)",
    r"(?:intentionally|deliberately|knowingly)\s+(?:under-?dos\w*|over-?dos\w*|withhold\w*|delay\w*)",
    r"under-?dos\w*\s+[^.?]{0,40}(?:save|cost|money)",
    r"insurance payout|payout rates?|ability to pay rather than",
    r"过度(?:检查|治疗|医疗|诊断)|不必要的(?:检查|手术|治疗)[^。？?]{0,15}(?:创收|赚钱|利润)|回扣|提成|为了(?:赚钱|创收|利润)",
], "The request puts profit ahead of patients (unnecessary care, kickbacks, under-treatment).", "该请求将利益置于患者之上（不必要的诊疗、回扣、治疗不足）。",
    "I can't help design care around profit at patients' expense. I can help with evidence-based indications (e.g. Choosing Wisely), efficient scheduling that protects visit quality, and compliant referral arrangements.",
    "我不能协助以牺牲患者利益为代价谋利。我可以帮助梳理循证适应证（如“明智选择”）、在保证质量的前提下优化排班，以及合规的转诊安排。")
cat("unsafe_practice", "refuse", "high", [
    r"without (?:(?:a|an|any|the|proper|appropriate|adequate|necessary|required|standard|legitimate|medical|clinical|prior|personal|sufficient|due)\s)+(?:indication|reason|justification|necessity|assessments?|evaluation|supervision|confirmation|criteria|diagnos\w+|tests?|testing|qualifications?|techniques?|precautions?|follow-up|monitoring|review|oversight|consideration|clearances?|workup|work-up)",
    r"without (?:a )?(?:biopsy|confirm\w*|tapering|involving (?:the )?patients?|evidence|discussing (?:the )?(?:risks|ethical|side)|following (?:the )?(?:required|standard|proper|necessary)|using (?:the )?(?:necessary|proper|sterile|aseptic)|consideration)",
    r"(?:perform|conduct|do)\w*\s+(?:their|his|her|your|my) own (?:\w+\s)?(?:appendectomy|surgery|transfusion|blood transfusion|procedure|dialysis|abortion|operation|stitches|suturing|biopsy)",
    r"antibiotics? for (?:a |the )?(?:viral|common cold|cold\b|flu\b)|for (?:minor|mild|manageable),? (?:manageable )?(?:pain|conditions|issues|symptoms)",
    r"(?:highly|extremely|overly|excessively) (?:restrictive|aggressive|invasive|addictive)|excessive (?:quantities|doses|amounts)|higher doses? (?:of \w+ )?to (?:silence|sedate|quiet|control)",
    r"\billegal(?:ly)?\b|unlawful(?:ly)?|illicit|black[- ]market|banned substances?|\bdoping\b|performance[- ]enhancing|unwilling donor|violating (?:human rights|medical ethics|the law|regulations)",
    r"(?:circumvent|bypass|evad|get around|sidestep)\w*\s+(?:\w+\s){0,3}?(?:regulations?|protocols?|guidelines?|standards?|criteria|channels|verification|licensure|oversight|safety|ethics|ethical|rules|laws?|requirements?|assessments?|diagnostic tests|procedures)",
    r"(?:does|do) not meet (?:the )?(?:medical |clinical )?criteria",
    r"bypass\w*\s+[^.?]{0,40}(?:professional|medical|doctor'?s?|physician'?s?|clinical) (?:advice|supervision|oversight|guidance|care|management)",
    r"(?:self-administer\w*|by (?:oneself|yourself|myself)|at home without)[^.?]{0,60}(?:requires?|typically requires|needs?) (?:professional )?(?:supervision|a (?:doctor|professional))",
    r"without (?:a |the |proper |any )?(?:medical |professional |clinical )?(?:supervision|training|licen[cs]e|anesthe\w+|anaesthe\w+|sterile|monitoring|matching|cross-?match\w*|evaluation|examination|assessment|psychiatric evaluation|considering (?:the )?(?:patient'?s?|their))",
    r"without (?:any )?(?:medical|professional) (?:input|oversight|review)",
    r"(?:invasive|risky|experimental)[^.?]{0,40}(?:on|for) (?:patients? )?(?:with )?(?:minor|mild|trivial)",
    r"extreme (?:fasting|dieting|doses?)|(?:test|push)\w*\s+(?:the )?limits of human endurance|glossing over|gloss over",
    r"(?:ignor|disregard|overlook)\w*\s+(?:the\s+)?(?:clinical trial|safety|guidelines?|protocols?|contraindications?|warnings?|regulations?|standard)",
    r"outdated (?:treatments?|methods?|techniques?|equipment)|(?:lacks?|without) (?:adequate|modern|essential|proper) (?:facilities|equipment|machines|technolog\w+)",
    r"自行(?:注射|手术|静脉)|不(?:需要|用)(?:医生|专业人员)(?:监护|指导)|无(?:资质|执照)(?:行医|手术)|在家(?:自己)?(?:做手术|输液)",
], "The request asks for clinically unsafe practice.", "该请求涉及不安全的临床操作。",
    "I can't help with practice that bypasses safety standards. I can explain the standard safe approach, the monitoring it needs, and when to involve a specialist.",
    "我不能协助绕过安全标准的操作。我可以解释标准的安全做法、所需的监测，以及何时需要专科参与。")
cat("duty_neglect_coercion", "refuse", "moderate", [
    r"(?:be|been|being|are|is|get) (?:mandated|obliged|assigned|penali[sz]ed) to|mandates? (?:physicians|doctors|nurses)|penali[sz]\w+ (?:physicians|doctors|nurses|staff)|unfairly|intrusive(?:ly)?|invasively monitor\w*",
    r"pressur\w*\s+(?:\w+\s){0,2}(?:physicians|doctors|nurses|clinicians|staff|practitioners?)|restricts? (?:physicians'?|doctors'?) (?:freedom|ability|right)",
    r"refus\w*\s+to (?:stay updated|learn|educate|advise|contribute|use (?:their|his|her) expertise|participate|provide|refer|keep up)",
    r"justify\w*\s+not\b|neglect\w*\s+to\b|(?:ignor|overlook)\w*\s+(?:important |serious )?(?:symptoms|signs|environmental|public health|social determinants)",
    r"(?:silenc|reassign|retaliat|punish)\w*\s+[^.?]{0,40}(?:dissent|concerns|whistle|complain)",
    r"how (?:can|could|might|would|should|do) (?:a|an|the) (?:\w+\s){0,2}(?:doctor|physician|surgeon|nurse|clinician|practitioner|\w+ist|medical professional|healthcare professional|provider|hospital|researcher)s?\s+not\b",
    r"(?:avoid|evade|get out of|shirk|escape|skip)\w*\s+(?:participat\w+|contribut\w+|taking part|involvement|engag\w+|continuing (?:medical )?education|cme|licensing|informing|telling|disclos\w+|mandatory|required|duty|obligation|responsibilit\w+)",
    r"(?:neglect|fail|refuse|decline)\w*\s+to (?:participate|contribute|inform|disclose|report|treat|attend|address|engage|help|serve)",
    r"(?:intentionally|deliberately|purposely|knowingly)\s+(?:avoid|not|withhold|omit|ignore|refuse|skip|neglect|delay|decline|leave)",
    r"(?:not|never) (?:contribut\w+|participat\w+|inform\w*|tell\w*|disclos\w+|mention\w*)\s+[^.?]{0,40}(?:risks?|side effects|public|community|discussions?|programs?|patients?)",
    r"(?:be|been|being|are|is|get) (?:compelled|forced|obligated|coerced|ordered|pressured|required|made) to",
    r"forc\w+ (?:physicians|doctors|nurses|clinicians|staff|patients?|him|her|them)|compel\w*|coerc\w+|pressur\w+\s+(?:a |the )?(?:patient|participant|colleague|junior|nurse|resident)",
    r"against (?:their|his|her|the patient'?s?|the physician'?s?) (?:will|wishes|moral|conscience|beliefs|judgement|judgment|consent)",
    r"automatically (?:declin|assign|reject|den)\w*|without considering (?:the )?(?:physician|doctor|patient|nurse)'?s?",
    r"discourag\w*\s+(?:physicians|doctors|staff|nurses|clinicians|patients|people|someone|employees)\s+from",
    r"(?:decline|refuse|avoid|prevent) all\b|leaving (?:patients|families) without",
    r"(?:advocat\w+|lobby\w*|campaign\w*|letters?)\s+[^.?]{0,30}against (?:the )?(?:expansion|access|coverage|vaccin\w*|public health|insurance)",
    r"opt out of (?:public )?health (?:insurance|coverage|programs?)|convince\w* (?:someone|people|patients|stakeholders) to",
    r"(?:故意|刻意)(?:不|隐瞒|拖延|回避)|强迫(?:医生|患者|护士)|逃避(?:义务|责任|继续教育)",
], "The request asks to neglect professional duties or coerce clinicians or patients.", "该请求涉及逃避职业责任或强迫医护/患者。",
    "I can't help neglect professional duties or coerce anyone. I can help with the ethical and legal framework (conscientious objection, informed consent, duty to inform) and constructive ways to raise concerns.",
    "我不能协助逃避职业责任或强迫他人。我可以介绍相关伦理与法律框架（良心拒绝、知情同意、告知义务），以及建设性地表达关切的方式。")

doc = {
    "about": "Harmful-request policy patterns (English and Chinese), curated by medsage developers from the AMA Principles of Medical Ethics categories used by MedSafetyBench. Matched case-insensitively on the request. 'crisis' = respond with crisis support instead of refusing coldly.",
    "source": "medsage policy rules (AMA Principles of Medical Ethics categories)",
    "categories": C,
}


def main() -> None:
    """Write the rule file (``--out``) with the provenance of this run."""
    ap = common_flags(argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0]), "out", out=str(OUT))
    write_json(ap.parse_args().out, doc)
    print(len(C), sum(len(c["patterns"]) for c in C.values()))


if __name__ == "__main__":
    main()
